using System.Security.Cryptography;
using Imprint.Clouds.OpenStack;
using Imprint.Clouds.Tests.Infrastructure;
using Imprint.Tests.Infrastructure;

namespace Imprint.Clouds.Tests.OpenStack;

/// <summary>
/// `imprint upload` as a cloud administrator runs it: the executable, a real `imprint serve` and the real noauth Glance.
/// </summary>
[Collection(GlanceCollection.Name)]
public sealed class UploadCommandTests : IAsyncLifetime
{
    private readonly ImprintServer _server = new();
    private readonly string _work = Directory.CreateTempSubdirectory("imprint-upload-").FullName;
    private string _cloudName = "";
    private string _cloudId = "";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        await _server.InitializeAsync();
        using var api = _server.Client();
        _cloudName = "upload-" + Guid.NewGuid().ToString("N")[..8];
        _cloudId = (await api.PostAsync("/api/clouds", new { name = _cloudName, kind = "openstack", endpoint = Peers.GlanceUrl, adminContact = "ops@example.com" }))
            .ShouldHaveStatus(201)["id"];
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    private Task<(int Exit, string Out, string Err)> UploadAsync(params string[] args) =>
        ImprintCli.RunAsync(new Dictionary<string, string>
        {
            ["IMPRINT_SERVER"] = _server.BaseAddress.ToString(),
            ["IMPRINT_TOKEN"] = _server.AdminToken,
            ["XDG_DATA_HOME"] = _work, // no admin token of this machine's own data dir is read
        }, ["upload", .. args]);

    [Fact]
    public async Task Upload_Qcow2_GlanceHoldsItWithItsDigestsAndTheCloudIsRematched()
    {
        var raw = Peers.RandomBytes(3 * 1024 * 1024);
        Array.Clear(raw, 1024 * 1024, 1024 * 1024);
        var file = Path.Combine(_work, "build.qcow2");
        await File.WriteAllBytesAsync(file, await Peers.Qcow2Async(_work, raw), Ct);
        var (fingerprintExit, fingerprintOut, _) = await ImprintCli.RunAsync("fingerprint", "--digest", "disk-sha256", file);
        fingerprintExit.ShouldBe(0);
        var name = "uploaded-" + Guid.NewGuid().ToString("N")[..8];

        var (exit, output, error) = await UploadAsync("--cloud", _cloudName, "--name", name, file);

        exit.ShouldBe(0, error);
        output.ShouldContain("checksums verified");
        output.ShouldContain("rematch ok");
        using var api = _server.Client();
        var listed = (await api.GetAsync($"/api/clouds/{_cloudId}/images?name={name}")).ShouldHaveStatus(200).Body["items"]!.AsArray();
        var uid = listed.ShouldHaveSingleItem()!["uid"]!.ToString(); // in the inventory: the cloud was rematched
        using var glance = new GlanceAdmin(Peers.GlanceUrl);
        var image = await glance.GetAsync(uid);
        image["status"]!.ToString().ShouldBe("active");
        image["disk_format"]!.ToString().ShouldBe("qcow2");
        var bytes = await File.ReadAllBytesAsync(file, Ct);
        image["checksum"]!.ToString().ShouldBe(Convert.ToHexStringLower(MD5.HashData(bytes)));
        image["os_hash_value"]!.ToString().ShouldBe(Convert.ToHexStringLower(SHA512.HashData(bytes)));
        image["imprint_sha256"]!.ToString().ShouldBe(Convert.ToHexStringLower(SHA256.HashData(bytes)));
        ("disk-sha256:" + image[GlanceImageMapper.DiskSha256Property]).ShouldBe(fingerprintOut.Trim().Split(' ')[^1]);
    }

    [Fact]
    public async Task Upload_NotAnImage_Exit1NamingTheFileAndNothingUploaded()
    {
        var file = Path.Combine(_work, "broken.qcow2");
        await File.WriteAllBytesAsync(file, [(byte)'Q', (byte)'F', (byte)'I', 0xfb, 0, 0, 0, 3, 0, 0, 0, 0], Ct);
        var name = "broken-" + Guid.NewGuid().ToString("N")[..8];

        var (exit, _, error) = await UploadAsync("--cloud", _cloudId, "--name", name, file);

        exit.ShouldBe(1);
        error.ShouldContain(file);
        using var glance = new HttpClient { BaseAddress = new Uri(Peers.GlanceUrl) };
        (await glance.GetStringAsync($"/v2/images?name={name}", Ct)).ShouldContain("\"images\": []");
    }

    [Fact]
    public async Task Upload_UnknownCloud_Exit1SayingSo()
    {
        var file = Path.Combine(_work, "disk.raw");
        await File.WriteAllBytesAsync(file, Peers.RandomBytes(4096), Ct);

        var (exit, _, error) = await UploadAsync("--cloud", "no-such-cloud", file);

        exit.ShouldBe(1);
        error.ShouldContain("no cloud with id or name 'no-such-cloud'");
    }
}
