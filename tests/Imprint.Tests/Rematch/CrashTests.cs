using System.Diagnostics;
using Imprint.Tests.Infrastructure;

namespace Imprint.Tests.Rematch;

/// <summary>Killing the server mid-rematch loses no committed data and leaves no half-replaced inventory.</summary>
public sealed class CrashTests
{
    [Fact]
    public async Task KillDuringRematch_RestartKeepsCommittedData_InventoryAllOrNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Directory.CreateTempSubdirectory("imprint-crash-").FullName;
        var folder = TestImages.NewFolder();
        const int files = 400;
        for (var i = 0; i < files; i++)
            TestImages.Write(folder, $"img-{i:000}.raw", seed: i, size: 512 * 1024);

        string cloudId, mciId;
        using (var first = await ServerProcess.StartAsync(dataDir, ct))
        {
            using var api = first.Client();
            cloudId = await api.CreateFolderCloudAsync(folder, name: "crash");
            mciId = await api.CreateMciAsync("survives");
            // A rematch that hashes 200 MiB takes long enough to be killed in the middle.
            var rematch = api.Http.PostAsync($"/api/clouds/{cloudId}/rematch", null, ct);
            await Task.Delay(TimeSpan.FromMilliseconds(700), ct);
            first.Kill();
            await Should.ThrowAsync<Exception>(rematch);
        }

        using var second = await ServerProcess.StartAsync(dataDir, ct);
        using var again = second.Client();
        (await again.GetAsync($"/api/multi-cloud-images/{mciId}")).ShouldHaveStatus(200);
        var count = (await again.GetAsync($"/api/clouds/{cloudId}/images?limit=500")).ShouldHaveStatus(200).Body["items"]!.AsArray().Count;
        count.ShouldBeOneOf(0, files);
        var report = await again.RematchAsync(cloudId);
        report["status"].ShouldBe("ok");
        (await again.GetAsync($"/api/clouds/{cloudId}/images?limit=500")).Body["items"]!.AsArray().Count.ShouldBe(files);
    }

    /// <summary>`imprint serve` as a separate process, so that it can be killed like a real one.</summary>
    private sealed class ServerProcess : IDisposable
    {
        private readonly Process _process;
        private readonly string _token;

        private ServerProcess(Process process, Uri address, string token)
        {
            _process = process;
            Address = address;
            _token = token;
        }

        public Uri Address { get; }

        public static async Task<ServerProcess> StartAsync(string dataDir, CancellationToken ct)
        {
            var port = FreePort();
            var start = new ProcessStartInfo("dotnet")
            {
                ArgumentList = { Path.Combine(AppContext.BaseDirectory, "imprint.dll"), "serve", "--data-dir", dataDir, "--urls", $"http://127.0.0.1:{port}" },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            var process = Process.Start(start)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var address = new Uri($"http://127.0.0.1:{port}");
            using var http = new HttpClient { BaseAddress = address };
            for (var attempt = 0; attempt < 150; attempt++)
            {
                try
                {
                    if ((await http.GetAsync("/healthz", ct)).IsSuccessStatusCode)
                        return new ServerProcess(process, address, (await File.ReadAllTextAsync(Path.Combine(dataDir, "admin.token"), ct)).Trim());
                }
                catch (HttpRequestException)
                {
                    // not listening yet
                }
                await Task.Delay(100, ct);
            }
            process.Kill();
            throw new InvalidOperationException("imprint serve did not start");
        }

        private static int FreePort()
        {
            using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        }

        public ApiClient Client() => new(Address, _token);

        public void Kill()
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        public void Dispose()
        {
            if (!_process.HasExited)
                Kill();
            _process.Dispose();
        }
    }
}
