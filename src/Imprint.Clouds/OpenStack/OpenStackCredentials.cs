using System.Text.Json;
using System.Text.Json.Serialization;

namespace Imprint.Clouds.OpenStack;

/// <summary>
/// The <c>credentials</c> of an <c>openstack</c> cloud: a JSON object, encrypted at rest and never shown back.
/// Keystone v3 password authentication:
/// <code>{"username": "demo", "password": "…", "userDomainName": "Default", "projectName": "demo", "projectDomainName": "Default"}</code>
/// (ids instead of names: <c>userId</c>, <c>userDomainId</c>, <c>projectId</c>, <c>projectDomainId</c>); or an application credential:
/// <code>{"applicationCredentialId": "…", "applicationCredentialSecret": "…"}</code>
/// (or <c>applicationCredentialName</c> with <c>username</c>/<c>userId</c> and the user's domain).
/// Optional for both: <c>authUrl</c> (the Keystone v3 URL; default: the cloud's endpoint), <c>interface</c> of the image
/// endpoint in the catalog (<c>public</c> by default), <c>region</c> (default: the cloud's region, else any), and
/// <c>dashboardUrl</c> (Horizon's URL: images then get a <c>consoleUrl</c>). Without credentials, the cloud's endpoint
/// is the Glance URL itself and requests carry no token (a noauth Glance).
/// </summary>
internal sealed record OpenStackCredentials
{
    public string? AuthUrl { get; init; }
    public string? Username { get; init; }
    public string? UserId { get; init; }
    public string? Password { get; init; }
    public string? UserDomainName { get; init; }
    public string? UserDomainId { get; init; }
    public string? ProjectName { get; init; }
    public string? ProjectId { get; init; }
    public string? ProjectDomainName { get; init; }
    public string? ProjectDomainId { get; init; }
    public string? ApplicationCredentialId { get; init; }
    public string? ApplicationCredentialName { get; init; }
    public string? ApplicationCredentialSecret { get; init; }
    public string? Interface { get; init; }
    public string? Region { get; init; }
    public string? DashboardUrl { get; init; }

    [JsonIgnore]
    public bool IsApplicationCredential => ApplicationCredentialSecret is not null;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    /// <summary>Parses and checks the credentials. The error never quotes them: they are secrets.</summary>
    public static (OpenStackCredentials? Value, string? Error) Parse(string text)
    {
        OpenStackCredentials? value;
        try
        {
            value = JsonSerializer.Deserialize<OpenStackCredentials>(text, Json);
        }
        catch (JsonException e)
        {
            // JsonException names the path and position only, never the value.
            return (null, $"the credentials are not an openstack credentials JSON object ({e.Path ?? "?"}, line {e.LineNumber}): expected "
                + "{\"username\", \"password\", \"userDomainName\", \"projectName\", \"projectDomainName\"} or {\"applicationCredentialId\", \"applicationCredentialSecret\"}");
        }
        if (value is null)
            return (null, "the credentials are empty");
        if (value.IsApplicationCredential)
        {
            if (value.ApplicationCredentialId is null && (value.ApplicationCredentialName is null || (value.Username is null && value.UserId is null)))
                return (null, "application credentials need applicationCredentialId, or applicationCredentialName with username or userId");
            return (value, null);
        }
        if (value.Password is null || (value.Username is null && value.UserId is null))
            return (null, "password credentials need password and username or userId (or use applicationCredentialId and applicationCredentialSecret)");
        if (value.Username is not null && value.UserId is null && value.UserDomainName is null && value.UserDomainId is null)
            return (null, "password credentials with a username need userDomainName or userDomainId");
        if (value.ProjectName is not null && value.ProjectDomainName is null && value.ProjectDomainId is null)
            return (null, "password credentials with a projectName need projectDomainName or projectDomainId");
        return (value, null);
    }

    /// <summary>The body of <c>POST /v3/auth/tokens</c>.</summary>
    public object TokenRequest()
    {
        if (IsApplicationCredential)
        {
            return new
            {
                auth = new
                {
                    identity = new
                    {
                        methods = new[] { "application_credential" },
                        application_credential = ApplicationCredentialId is not null
                            ? (object)new { id = ApplicationCredentialId, secret = ApplicationCredentialSecret }
                            : new { name = ApplicationCredentialName, secret = ApplicationCredentialSecret, user = User() },
                    },
                },
            };
        }
        object? scope = ProjectId is not null ? new { project = new { id = ProjectId } }
            : ProjectName is not null ? new { project = new { name = ProjectName, domain = Domain(ProjectDomainId, ProjectDomainName) } }
            : null;
        var identity = new { methods = new[] { "password" }, password = new { user = User(password: true) } };
        return scope is null ? new { auth = new { identity } } : new { auth = new { identity, scope } };
    }

    private object User(bool password = false)
    {
        var domain = UserId is null ? Domain(UserDomainId, UserDomainName) : null;
        return (password, UserId) switch
        {
            (true, not null) => new { id = UserId, password = Password },
            (true, null) => new { name = Username, domain, password = Password },
            (false, not null) => new { id = UserId },
            _ => new { name = Username, domain },
        };
    }

    private static object Domain(string? id, string? name) => id is not null ? new { id } : new { name };

    // Records print their members: never let a secret reach a log or a message that way.
    public override string ToString() => "OpenStackCredentials { *** }";
}
