namespace Imprint.Clouds.OpenStack;

/// <summary>
/// Why a request to Glance or Keystone failed, in words fit for a user (no credentials, no tokens). Thrown only inside the
/// connector, from deep in a paging loop, and turned into a failed <see cref="SyncResult"/> at its boundary.
/// </summary>
internal sealed class OpenStackFault(string message, Exception? inner = null) : Exception(message, inner);
