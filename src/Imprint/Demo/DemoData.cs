using Imprint.Core.Catalog;
using Imprint.DiskImages;
using Imprint.Hosting;
using Imprint.Rematch;
using Imprint.Storage;
using Microsoft.EntityFrameworkCore;

namespace Imprint.Demo;

/// <summary>
/// The demo of <c>imprint serve --demo</c>: two folder clouds of small generated images (the second lacks one image
/// and holds an impostor), a public cloud with hand-written settings, three MCIs and two ServerTemplates, rematched
/// so that the image map shows matched, ambiguous, suspect and no-match at once.
/// </summary>
internal static class DemoData
{
    private const int MiB = 1024 * 1024;

    public static async Task SeedAsync(IServiceProvider services, ServeOptions options, CancellationToken cancellationToken)
    {
        var time = services.GetRequiredService<TimeProvider>();
        var dbFactory = services.GetRequiredService<IDbContextFactory<ImprintDb>>();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await db.Accounts.OrderBy(a => a.CreatedAt).FirstAsync(cancellationToken);
        if (await db.Clouds.AnyAsync(c => c.AccountId == account.Id, cancellationToken)
            || await db.MultiCloudImages.AnyAsync(m => m.AccountId == account.Id, cancellationToken))
            return; // only an empty database gets the demo

        var root = Path.Combine(options.DataDirectory, "demo");
        var lab = Directory.CreateDirectory(Path.Combine(root, "lab-kvm")).FullName;
        var branch = Directory.CreateDirectory(Path.Combine(root, "branch-office")).FullName;
        var ubuntu = await WriteImageAsync(Path.Combine(lab, "ubuntu-24.04.raw"), seed: 2404, cancellationToken);
        var debian = await WriteImageAsync(Path.Combine(lab, "debian-12.raw"), seed: 12, cancellationToken);
        var alma = await WriteImageAsync(Path.Combine(lab, "almalinux-9.raw"), seed: 9, cancellationToken);
        File.Copy(ubuntu.Path, Path.Combine(lab, "ubuntu-24.04-copy.raw"), overwrite: true); // ambiguous in lab-kvm
        File.Copy(ubuntu.Path, Path.Combine(branch, "ubuntu-24.04.raw"), overwrite: true);
        await WriteImageAsync(Path.Combine(branch, "debian-12.raw"), seed: 666, cancellationToken); // an impostor: suspect

        var now = time.GetUtcNow();
        Cloud NewCloud(string name, string kind, string endpoint, bool isPublic, string contact, string? region = null) => new()
        {
            Id = Ids.New("cld", time), AccountId = account.Id, Name = name, Kind = kind, Endpoint = endpoint, Region = region,
            IsPublic = isPublic, AdminContact = contact, CreatedAt = now, UpdatedAt = now, NextSyncAt = now,
        };
        var labCloud = NewCloud("lab-kvm", CloudKinds.Folder, lab, false, "lab-admins@example.com");
        var branchCloud = NewCloud("branch-office", CloudKinds.Folder, branch, false, "branch-it@example.com");
        var awsCloud = NewCloud("aws-us-east-1", CloudKinds.Ec2, "https://ec2.us-east-1.amazonaws.com", true, "cloud-team@example.com", "us-east-1");
        db.Clouds.AddRange(labCloud, branchCloud, awsCloud);

        MultiCloudImage NewMci(string name, string description) => new()
        {
            Id = Ids.New("mci", time), AccountId = account.Id, Lineage = Ids.New("lin", time), Name = name, Description = description,
            CreatedAt = now, UpdatedAt = now,
        };
        var ubuntuMci = NewMci("Ubuntu 24.04", "Ubuntu 24.04 LTS base image");
        var debianMci = NewMci("Debian 12", "Debian 12 (bookworm) base image");
        var almaMci = NewMci("AlmaLinux 9", "AlmaLinux 9 base image");
        db.MultiCloudImages.AddRange(ubuntuMci, debianMci, almaMci);
        foreach (var (mci, image, fileName) in new[] { (ubuntuMci, ubuntu, "ubuntu-24.04.raw"), (debianMci, debian, "debian-12.raw"), (almaMci, alma, "almalinux-9.raw") })
        {
            db.Matchers.Add(new Matcher
            {
                Id = Ids.New("mat", time), AccountId = account.Id, MciId = mci.Id, CloudKind = CloudKinds.Folder,
                Fingerprint = string.Join(' ', image.Fingerprint.Digests), VirtualSize = image.Fingerprint.VirtualSize, ImageName = fileName,
                CreatedAt = now,
            });
        }
        foreach (var (mci, ami) in new[] { (ubuntuMci, "ami-0b8c2d9e0f1a2b3c4"), (debianMci, "ami-0d4e5f6a7b8c9d0e1") })
        {
            db.Settings.Add(new Setting
            {
                Id = Ids.New("set", time), AccountId = account.Id, MciId = mci.Id, CloudId = awsCloud.Id, ImageUid = ami,
                InstanceType = "t3.small", CreatedAt = now, UpdatedAt = now,
            });
        }

        ServerTemplate NewTemplate(string name, string description) => new()
        {
            Id = Ids.New("st", time), AccountId = account.Id, Lineage = Ids.New("lin", time), Name = name, Description = description,
            CreatedAt = now, UpdatedAt = now,
        };
        var web = NewTemplate("Web server", "nginx on Ubuntu, or on Debian where Ubuntu is not available");
        var database = NewTemplate("Database server", "PostgreSQL on AlmaLinux");
        db.ServerTemplates.AddRange(web, database);
        db.ServerTemplateMcis.AddRange(
            new ServerTemplateMci { AccountId = account.Id, ServerTemplateId = web.Id, MciId = ubuntuMci.Id, IsDefault = true, Position = 0 },
            new ServerTemplateMci { AccountId = account.Id, ServerTemplateId = web.Id, MciId = debianMci.Id, Position = 1 },
            new ServerTemplateMci { AccountId = account.Id, ServerTemplateId = database.Id, MciId = almaMci.Id, IsDefault = true, Position = 0 });
        await db.SaveChangesAsync(cancellationToken);

        var rematch = services.GetRequiredService<RematchService>();
        foreach (var cloud in new[] { labCloud, branchCloud, awsCloud })
            await rematch.RematchCloudAsync(account.Id, cloud.Id, cancellationToken);
        Log.DemoCreated(services.GetRequiredService<ILoggerFactory>().CreateLogger("Imprint.Demo"), 3, 2);
    }

    /// <summary>Writes a small raw disk: 1 MiB of seeded data, a zero run, more data, and a tail that is not a whole MiB.</summary>
    private static async Task<(string Path, ImageFingerprint Fingerprint)> WriteImageAsync(string path, int seed, CancellationToken cancellationToken)
    {
        var random = new Random(seed);
        var bytes = new byte[3 * MiB + 4096];
        random.NextBytes(bytes.AsSpan(0, MiB));
        random.NextBytes(bytes.AsSpan(2 * MiB, MiB + 4096));
        await File.WriteAllBytesAsync(path, bytes, cancellationToken);
        var result = await ImageFingerprinter.FingerprintFileAsync(path, new FingerprintOptions(), cancellationToken);
        return (path, result.Fingerprint ?? throw new InvalidOperationException($"demo image {path}: {result.Error}"));
    }
}
