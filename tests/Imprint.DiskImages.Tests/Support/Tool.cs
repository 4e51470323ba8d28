using System.Diagnostics;

namespace Imprint.DiskImages.Tests.Support;

/// <summary>Runs the real tools (qemu-img, qemu-io, the reference script, sha*sum) the tests compare against.</summary>
internal static class Tool
{
    public static string Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            // Deliberately a failure, not a skip: without the real tool these tests prove nothing.
            throw new InvalidOperationException($"{file} is not installed ({e.Message}); run: apt-get install -y qemu-utils", e);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {stderr.Result}");
            return stdout;
        }
    }

    /// <summary>The reference disk-sha256 (shared/reference/disk_sha256.py) of a raw file.</summary>
    public static string ReferenceDiskSha256(string rawPath) =>
        Run("/usr/bin/python3", ReferenceScript, rawPath).Trim();

    /// <summary>md5sum, sha1sum, sha256sum or sha512sum of a file, written algorithm:hex.</summary>
    public static string FileDigest(string algorithm, string path) =>
        $"{algorithm}:{Run($"{algorithm}sum", path).Split(' ')[0]}";

    private static string ReferenceScript
    {
        get
        {
            // The script lives in the shared folder beside the repository checkouts; IMPRINT_REFERENCE overrides.
            var configured = Environment.GetEnvironmentVariable("IMPRINT_REFERENCE");
            if (!string.IsNullOrEmpty(configured))
                return configured;
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", "reference", "disk_sha256.py");
                if (File.Exists(candidate))
                    return candidate;
            }
            throw new InvalidOperationException("shared/reference/disk_sha256.py not found above the test directory; set IMPRINT_REFERENCE");
        }
    }
}
