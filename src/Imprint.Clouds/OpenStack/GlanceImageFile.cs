using System.Net;
using System.Net.Http.Headers;
using Imprint.DiskImages;

namespace Imprint.Clouds.OpenStack;

/// <summary>
/// An image's file in Glance, read by byte ranges of <c>GET /v2/images/{id}/file</c> (Glance answers Range with 206),
/// so that a qcow2 or vmdk can be fingerprinted as it downloads, without a copy on disk. Each answer must start within the
/// request timeout and then never pause longer than it: a download that stalls fails instead of holding the rematch.
/// </summary>
internal sealed class GlanceImageFile(GlanceSession session, string uid, long length) : IByteRanges
{
    public long Length => length;

    public async Task<Stream> OpenAsync(long offset, long count, CancellationToken cancellationToken)
    {
        var whole = offset == 0 && count == length;
        var timeout = session.RequestTimeout;
        HttpResponseMessage response;
        using (var headers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            headers.CancelAfter(timeout);
            try
            {
                response = await session.SendAsync(() =>
                {
                    var request = new HttpRequestMessage(HttpMethod.Get, session.Url($"/v2/images/{uid}/file"));
                    if (!whole)
                        request.Headers.Range = new RangeHeaderValue(offset, offset + count - 1);
                    return request;
                }, transfer: true, HttpCompletionOption.ResponseHeadersRead, headers.Token);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"Glance did not start sending image {uid} within {timeout.TotalSeconds:0.#} s", e);
            }
        }
        try
        {
            if (!response.IsSuccessStatusCode)
                throw await OpenStackHttp.DescribeAsync(response, GlanceSession.Peer, cancellationToken);
            if (!whole && (response.StatusCode != HttpStatusCode.PartialContent || response.Content.Headers.ContentRange?.From != offset))
            {
                throw new OpenStackFault($"Glance answered bytes {offset}–{offset + count - 1} of image {uid} with HTTP {(int)response.StatusCode} "
                    + $"{response.Content.Headers.ContentRange?.ToString() ?? "without a Content-Range"}: it (or a proxy before it) does not serve byte ranges, "
                    + "so this image cannot be read without a copy");
            }
            return new WatchedBody(response, await response.Content.ReadAsStreamAsync(cancellationToken), timeout);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>A response's body that fails a read waiting longer than <paramref name="idle"/>, and disposes the response with it.</summary>
    private sealed class WatchedBody(HttpResponseMessage response, Stream body, TimeSpan idle) : ReadOnlyStream
    {
        public override int Read(Span<byte> buffer)
        {
            // A blocked synchronous read does not watch a token: closing the body under it is what ends it.
            using var timer = new CancellationTokenSource(idle);
            using var closing = timer.Token.Register(body.Dispose);
            try
            {
                return body.Read(buffer);
            }
            catch (Exception e) when (timer.IsCancellationRequested)
            {
                throw Stalled(e);
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timer.CancelAfter(idle);
            try
            {
                return await body.ReadAsync(buffer, timer.Token);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw Stalled(e);
            }
        }

        private IOException Stalled(Exception inner) => new($"Glance sent nothing for {idle.TotalSeconds:0.#} s", inner);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                body.Dispose();
                response.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
