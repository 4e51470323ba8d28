using Imprint.Api;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;

namespace Imprint.Hosting;

/// <summary>
/// Turns request faults into problem details: malformed JSON and bad parameters (400), bodies over the limit (413),
/// and any unexpected exception (500, logged, without internals in the answer).
/// </summary>
internal sealed class ProblemMiddleware(RequestDelegate next, ILogger<ProblemMiddleware> logger)
{
    /// <summary>A body declared too large but no larger than this is read and dropped before the 413 (see below).</summary>
    private const long DrainLimit = 16 << 20;

    public async Task InvokeAsync(HttpContext context, IProblemDetailsService problems)
    {
        // Routing has run: a route may declare its own body limit (image uploads); every other one has the default.
        var limit = context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize ?? ServerApp.MaxRequestBodySize;
        var bodySize = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (bodySize is { IsReadOnly: false })
            bodySize.MaxRequestBodySize = limit;
        if (context.Request.ContentLength is { } length && length > limit)
        {
            await RefuseTooLargeAsync(context, problems, bodySize, length, limit);
            return;
        }
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            var detail = e.InnerException is System.Text.Json.JsonException json
                ? $"the request body is not valid JSON for this resource: {json.Message}"
                : e.Message;
            var errors = e.InnerException is System.Text.Json.JsonException { Path: { } path }
                ? new Dictionary<string, string[]> { [path] = [e.InnerException.Message] }
                : null;
            await WriteAsync(context, problems, e.StatusCode, detail, errors);
        }
        catch (Exception e) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            Log.Unhandled(logger, e, context.Request.Method, context.Request.Path);
            await WriteAsync(context, problems, StatusCodes.Status500InternalServerError, "an unexpected error occurred; it was logged", null);
        }
    }

    /// <summary>
    /// Answers 413 to a body declared larger than the limit. A client still sending it when the server answers and closes
    /// sees a broken pipe, not the answer: a body of reasonable size is read and dropped first; a larger one gets the
    /// answer at once and the connection closed.
    /// </summary>
    private static async Task RefuseTooLargeAsync(HttpContext context, IProblemDetailsService problems, IHttpMaxRequestBodySizeFeature? bodySize, long length, long limit)
    {
        if (length <= DrainLimit && bodySize is { IsReadOnly: false })
        {
            bodySize.MaxRequestBodySize = length;
            try
            {
                await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException)
            {
                return; // the client went away
            }
        }
        else
        {
            context.Response.Headers.Connection = "close";
        }
        await WriteAsync(context, problems, StatusCodes.Status413PayloadTooLarge, $"the request body is larger than {limit} bytes", null);
    }

    private static async Task WriteAsync(HttpContext context, IProblemDetailsService problems, int status, string detail, Dictionary<string, string[]>? errors)
    {
        context.Response.Clear();
        context.Response.StatusCode = status;
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Type = Problems.TypeFor(status), Detail = detail, Title = ReasonPhrase(status) };
        if (errors is not null)
            problem.Extensions["errors"] = errors;
        await problems.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
    }

    private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);
}
