using System.Security.Cryptography;
using Imprint.Clouds.Tests.Infrastructure;
using Imprint.Core.Digests;
using Imprint.DiskImages;
using Imprint.Tests.Infrastructure;

namespace Imprint.Clouds.Tests.OpenStack;

/// <summary>
/// End to end through the API of a real `imprint serve`: an openstack cloud registered with POST /api/clouds over a real
/// Glance of its own, matchers, upload, rematch, the image map with every status, and Glance stopped (stale).
/// </summary>
public sealed class OpenStackImageMapTests : IAsyncLifetime
{
    // Every rematch a full listing here, so a deletion shows at once (incremental sync has tests of its own), in pages of
    // a few images, so that a listing takes many requests.
    private const int PageSize = 3;
    private readonly ImprintServer _server = new()
    {
        ConfigureServices = s => Microsoft.Extensions.DependencyInjection.OptionsServiceCollectionExtensions.Configure<Imprint.Clouds.OpenStack.OpenStackOptions>(s, o =>
        {
            o.FullSyncEvery = 1;
            o.PageSize = PageSize;
            o.RetryDelay = TimeSpan.FromMilliseconds(100);
        }),
    };
    private string _glanceUrl = "";
    private int _glancePid;
    private string _work = "";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        (_glanceUrl, _glancePid) = await Peers.StartOwnGlanceAsync(Ct);
        _work = Directory.CreateTempSubdirectory("imprint-os-").FullName;
        await _server.InitializeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        await Peers.StopAsync(_glancePid);
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task ImageMap_OpenStackCloud_EveryStatusUploadAndStale()
    {
        using var api = _server.Client();
        using var glance = new GlanceAdmin(_glanceUrl);
        var cloudId = (await api.PostAsync("/api/clouds", new { name = "openstack-e2e", kind = "openstack", endpoint = _glanceUrl, adminContact = "ops@example.com" }))
            .ShouldHaveStatus(201)["id"];

        // A build as qcow2 and the same content converted to raw by qemu-img.
        var raw = Path.Combine(_work, "build.raw");
        var data = Peers.RandomBytes(3 * 1024 * 1024);
        Array.Clear(data, 1024 * 1024, 1024 * 1024); // a zero MiB, as real disks have
        await File.WriteAllBytesAsync(raw, data, Ct);
        var qcow2 = Path.Combine(_work, "build.qcow2");
        await Peers.RunAsync("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow2);
        var qcow2Bytes = await File.ReadAllBytesAsync(qcow2, Ct);
        var converted = Path.Combine(_work, "converted.raw");
        await Peers.RunAsync("qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2, converted);
        var content = await ContentDigestAsync(await File.ReadAllBytesAsync(converted, Ct));
        var asQcow2 = await glance.CreateAsync("build-qcow2", qcow2Bytes, "qcow2");
        var asRaw = await glance.CreateAsync("build-raw", await File.ReadAllBytesAsync(converted, Ct), "raw");
        var impostor = await glance.CreateAsync("expected-name", Peers.RandomBytes(4096), "raw");
        var pinned = await glance.CreateAsync("pinned", Peers.RandomBytes(4096), "raw");

        // The matcher `imprint fingerprint build.qcow2` gives: the qcow2 file's digests and the content digest.
        var fingerprint = new[]
        {
            Digest.FromBytes(DigestAlgorithm.Md5, MD5.HashData(qcow2Bytes)).ToString(),
            Digest.FromBytes(DigestAlgorithm.Sha512, SHA512.HashData(qcow2Bytes)).ToString(),
            content.ToString(),
        };
        var build = await api.CreateMciAsync();
        await api.AddMatcherAsync(build, fingerprint, "build", "openstack");
        var suspect = await api.CreateMciAsync();
        await api.AddMatcherAsync(suspect, [Random("sha512", 64)], "expected-name", "openstack");
        var nothing = await api.CreateMciAsync();
        await api.AddMatcherAsync(nothing, [Random("sha512", 64)], null, "openstack");
        var missing = await api.CreateMciAsync();
        (await api.PostAsync($"/api/multi-cloud-images/{missing}/settings", new { cloudId, imageUid = pinned })).ShouldHaveStatus(201);

        var first = await api.RematchAsync(cloudId);
        first["status"].ShouldBe("ok", first.Text);
        // The build's matcher wants a content digest of any size: the four images without one are downloaded once.
        first.Body["content"]!["fingerprinted"]!.GetValue<int>().ShouldBe(4, first.Text);
        first.Body["content"]!["deferred"]!.AsArray().ShouldBeEmpty();

        var entry = await api.MapEntryAsync(build, cloudId);
        entry["status"]!.ToString().ShouldBeOneOf("matched", "ambiguous");
        var candidates = entry["candidates"]!.AsArray().Select(c => c!["uid"]!.ToString()).ToList();
        candidates.ShouldContain(asQcow2); // by Glance's checksums
        candidates.ShouldContain(asRaw); // by content, fingerprinted from GET /v2/images/{id}/file
        (await api.MapEntryAsync(suspect, cloudId))["status"]!.ToString().ShouldBe("suspect");
        (await api.MapEntryAsync(nothing, cloudId))["status"]!.ToString().ShouldBe("no-match");
        (await api.MapEntryAsync(missing, cloudId))["status"]!.ToString().ShouldBe("matched");
        impostor.ShouldNotBeNullOrEmpty();

        // The pinned image is deleted: the hand-written setting is now missing.
        await glance.DeleteAsync(pinned);
        (await api.RematchAsync(cloudId))["status"].ShouldBe("ok");
        (await api.MapEntryAsync(missing, cloudId))["status"]!.ToString().ShouldBe("missing");

        // Upload through the server: a new build, checked against Glance's checksums, then rematched.
        var upload = Path.Combine(_work, "upload.raw");
        await File.WriteAllBytesAsync(upload, Peers.RandomBytes(2 * 1024 * 1024 + 3), Ct);
        var local = (await ImageFingerprinter.FingerprintFileAsync(upload, new FingerprintOptions(), Ct)).Fingerprint!;
        var uploadMci = await api.CreateMciAsync();
        await api.AddMatcherAsync(uploadMci, local.Digests.Select(d => d.ToString()).ToArray(), "uploaded", "openstack");
        var query = "name=uploaded&diskFormat=raw" + string.Concat(local.Digests.Select(d => "&digest=" + Uri.EscapeDataString(d.ToString())));
        using (var body = new ByteArrayContent(await File.ReadAllBytesAsync(upload, Ct)))
        {
            body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
            var reply = await api.SendAsync(new HttpRequestMessage(HttpMethod.Post, $"/api/clouds/{cloudId}/images?{query}") { Content = body });
            reply.ShouldHaveStatus(201);
            var uid = reply.Body["image"]!["uid"]!.ToString();
            reply.Body["image"]!["properties"]!["imprint_disk_sha256"]!.ToString().ShouldBe(local.Digests.Single(d => d.Algorithm == DigestAlgorithm.DiskSha256).Hex);
            var uploaded = await api.MapEntryAsync(uploadMci, cloudId);
            uploaded["status"]!.ToString().ShouldBe("matched");
            uploaded["image"]!["uid"]!.ToString().ShouldBe(uid);
        }

        // A digest that does not match what is sent: the image is deleted and the upload fails loudly.
        using (var body = new ByteArrayContent(Peers.RandomBytes(4096)))
        {
            body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
            var reply = await api.SendAsync(new HttpRequestMessage(HttpMethod.Post, $"/api/clouds/{cloudId}/images?name=bad&diskFormat=raw&digest=md5:{new string('0', 32)}") { Content = body });
            reply.Status.ShouldBe(422, reply.Text);
            reply.Text.ShouldContain("was deleted");
        }

        // Glance stops: the rematch fails, the map turns stale and keeps the last image.
        await Peers.StopAsync(_glancePid);
        var failed = (await api.PostAsync($"/api/clouds/{cloudId}/rematch")).ShouldHaveStatus(200);
        failed["status"].ShouldBe("failed");
        failed["error"].ShouldContain("cannot connect to Glance");
        var stale = await api.MapEntryAsync(uploadMci, cloudId);
        stale["status"]!.ToString().ShouldBe("stale");
        stale["image"]!["uid"]!.ToString().ShouldNotBeNullOrEmpty();
        stale["error"]!.ToString().ShouldContain("cannot connect to Glance");

        // An upload into the stopped Glance: 503 with when to try again.
        using (var body = new ByteArrayContent(Peers.RandomBytes(4096)))
        {
            body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
            using var response = await api.Http.PostAsync($"/api/clouds/{cloudId}/images?name=late&diskFormat=raw&digest=md5:{new string('0', 32)}", body, Ct);
            ((int)response.StatusCode).ShouldBe(503);
            response.Headers.RetryAfter.ShouldNotBeNull().Delta.ShouldBe(TimeSpan.FromSeconds(30));
            (await response.Content.ReadAsStringAsync(Ct)).ShouldContain("cannot connect to Glance");
        }
    }

    [Fact]
    public async Task Rematch_GlanceKilledMidListing_KeepsTheLastInventoryMarksStaleAndRecovers()
    {
        using var api = _server.Client();
        using var glance = new GlanceAdmin(_glanceUrl);
        var cloudId = (await api.PostAsync("/api/clouds", new { name = "openstack-killed", kind = "openstack", endpoint = _glanceUrl, adminContact = "ops@example.com" }))
            .ShouldHaveStatus(201)["id"];
        var data = Peers.RandomBytes(64 * 1024);
        var target = await glance.CreateAsync("target", data);
        for (var i = 0; i < 60; i++)
            await glance.CreateAsync($"queued-{i}", null); // listed, never active: many pages at little cost
        var mci = await api.CreateMciAsync();
        await api.AddMatcherAsync(mci, [Digest.FromBytes(DigestAlgorithm.Sha512, SHA512.HashData(data)).ToString()], "target", "openstack");
        (await api.RematchAsync(cloudId))["status"].ShouldBe("ok");
        (await api.MapEntryAsync(mci, cloudId))["status"]!.ToString().ShouldBe("matched");
        var inventory = await InventoryUidsAsync(api, cloudId);
        inventory.Count.ShouldBe(61);

        // Glance dies once it has served the third page of the next listing: the rematch is cut off mid-listing.
        var log = Peers.OwnGlanceLog(_glanceUrl);
        var pagesBefore = ListingRequests(log);
        var rematch = api.PostAsync($"/api/clouds/{cloudId}/rematch");
        while (ListingRequests(log) < pagesBefore + 3)
        {
            rematch.IsCompleted.ShouldBeFalse("the rematch ended before Glance was stopped mid-listing");
            await Task.Delay(5, Ct);
        }
        await Peers.StopAsync(_glancePid);
        var failed = (await rematch).ShouldHaveStatus(200);

        failed["status"].ShouldBe("failed", failed.Text);
        failed["error"].ShouldContain("Glance");
        (await InventoryUidsAsync(api, cloudId)).ShouldBe(inventory); // nothing of the cut-off listing was kept
        var stale = await api.MapEntryAsync(mci, cloudId);
        stale["status"]!.ToString().ShouldBe("stale");
        stale["image"]!["uid"]!.ToString().ShouldBe(target);
        stale["error"]!.ToString().ShouldBe(failed["error"]);

        // Glance is back: the next rematch recovers the match.
        (_glanceUrl, _glancePid) = await Peers.RestartOwnGlanceAsync(_glanceUrl, Ct);
        (await api.RematchAsync(cloudId))["status"].ShouldBe("ok");
        var recovered = await api.MapEntryAsync(mci, cloudId);
        recovered["status"]!.ToString().ShouldBe("matched");
        recovered["image"]!["uid"]!.ToString().ShouldBe(target);
        recovered["error"].ShouldBeNull();
    }

    /// <summary>Listing requests a Glance has logged (one line per request it served).</summary>
    private static int ListingRequests(string log)
    {
        using var reader = new StreamReader(new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        return reader.ReadToEnd().Split('\n').Count(l => l.Contains("\"GET /v2/images?limit=", StringComparison.Ordinal));
    }

    private static async Task<List<string>> InventoryUidsAsync(ApiClient api, string cloudId)
    {
        var uids = new List<string>();
        string? cursor = null;
        do
        {
            var page = (await api.GetAsync($"/api/clouds/{cloudId}/images?limit=500" + (cursor is null ? "" : "&cursor=" + cursor))).ShouldHaveStatus(200).Body;
            uids.AddRange(page["items"]!.AsArray().Select(i => i!["uid"]!.ToString()));
            cursor = page["next"]?.ToString();
        }
        while (cursor is not null);
        return uids;
    }

    private static string Random(string algorithm, int bytes) => $"{algorithm}:{Convert.ToHexStringLower(Peers.RandomBytes(bytes))}";

    private static async Task<Digest> ContentDigestAsync(byte[] raw)
    {
        using var stream = new MemoryStream(raw);
        return (await ImageFingerprinter.FingerprintStreamAsync(stream, new FingerprintOptions { Algorithms = [DigestAlgorithm.DiskSha256] }, Ct)).Fingerprint!.Digests[0];
    }
}
