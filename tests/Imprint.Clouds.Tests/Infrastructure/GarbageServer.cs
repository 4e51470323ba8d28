using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Imprint.Clouds.Tests.Infrastructure;

/// <summary>
/// A tiny HTTP/1.1 server on loopback that answers what a test scripts, byte for byte: for the protocol faults a real
/// Glance cannot be made to produce (HTML error pages, truncated or invalid JSON, a 401 in the middle of a listing, silence).
/// The script gets the request target and the 0-based request number and returns raw response bytes, or null to hang.
/// </summary>
public sealed class GarbageServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<string, int, Answer?> _script;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _requests;

    public GarbageServer(Func<string, int, string?> script)
        : this((head, number) => script(Target(head), number) is { } text ? new Answer(Encoding.UTF8.GetBytes(text)) : null)
    {
    }

    private GarbageServer(Func<string, int, Answer?> script)
    {
        _script = script;
        _listener.Start();
        _loop = Task.Run(AcceptAsync);
    }

    /// <summary>A server whose script sees the whole request head (the Range header…) and answers bytes, then may hang.</summary>
    public static GarbageServer Answering(Func<string, int, Answer?> script) => new(script);

    /// <summary>Bytes sent as they are; <paramref name="ThenHang"/>: then say nothing more, keeping the connection open.</summary>
    public sealed record Answer(byte[] Bytes, bool ThenHang = false);

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public int Requests => _requests;

    public static string Json(int status, string body, int? contentLength = null) =>
        $"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {contentLength ?? Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";

    public static string Html(int status, string body) =>
        $"HTTP/1.1 {status} X\r\nContent-Type: text/html\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            var head = new StringBuilder();
            var buffer = new byte[1];
            try
            {
                while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(buffer, _stop.Token) == 1)
                    head.Append((char)buffer[0]);
                var response = _script(head.ToString(), Interlocked.Increment(ref _requests) - 1);
                if (response is not null)
                {
                    await stream.WriteAsync(response.Bytes, _stop.Token);
                    await stream.FlushAsync(_stop.Token);
                }
                if (response is null or { ThenHang: true })
                    await Task.Delay(Timeout.Infinite, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                // The test is over or the client gave up.
            }
        }
    }

    private static string Target(string head) => head.Split(' ') is { Length: > 1 } parts ? parts[1] : "";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
    }
}
