using System.Text.Encodings.Web;

namespace Imprint.Ui;

/// <summary>
/// The HTML page for a /ui request that ended in an error status without a body (404 of another account's id, 400 of a
/// refused anti-forgery token, 403 of a role). Written directly rather than re-executed, because re-executing a request
/// does not run endpoint routing again in this pipeline.
/// </summary>
internal static class UiErrorPage
{
    public static (string Title, string Explanation) Describe(int status) => status switch
    {
        404 => ("Not found", "There is nothing here, or it belongs to another account."),
        403 => ("Not allowed", "Your role does not allow this. Ask an administrator of the account for a token with the right role."),
        400 => ("Bad request", "The form could not be accepted: it was incomplete, or its anti-forgery token was missing or expired. Go back, reload the page and try again."),
        405 => ("Not allowed", "This address does not accept that method."),
        _ => ("Something went wrong", $"The server answered with status {status}."),
    };

    public static Task WriteAsync(HttpContext context)
    {
        var (title, explanation) = Describe(context.Response.StatusCode);
        var html = HtmlEncoder.Default;
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync($"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{html.Encode(title)} · Imprint</title>
            <link rel="stylesheet" href="/ui/static/imprint.css">
            </head>
            <body>
            <header class="top"><a class="brand" href="/ui/server-templates">Imprint</a></header>
            <main id="main">
            <h1>{html.Encode(title)}</h1>
            <p>{html.Encode(explanation)}</p>
            <p><a href="/ui/server-templates">Back to the ServerTemplates</a></p>
            </main>
            </body>
            </html>
            """, context.RequestAborted);
    }
}
