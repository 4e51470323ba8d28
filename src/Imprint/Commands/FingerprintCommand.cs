using System.CommandLine;

namespace Imprint.Commands;

/// <summary>`imprint fingerprint FILE…`: digests of image files without a server (API.md).</summary>
internal static class FingerprintCommand
{
    public static Command Create()
    {
        var command = new Command("fingerprint", "Print the digests of image files.");
        command.SetAction(_ => 0);
        return command;
    }
}
