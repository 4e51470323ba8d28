using System.CommandLine;
using Imprint.Hosting;

namespace Imprint.Commands;

/// <summary>`imprint token`: prints the admin token of the data dir.</summary>
internal static class TokenCommand
{
    public static Command Create()
    {
        var command = new Command("token", "Print the admin token that 'imprint serve' created in the data dir.") { ServeCommand.DataDirOption };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = new ServeOptions { DataDirectory = parse.GetValue(ServeCommand.DataDirOption)! }.AdminTokenPath;
            if (!File.Exists(path))
            {
                await Console.Error.WriteLineAsync($"imprint: no admin token at {path}: run 'imprint serve' once to create it");
                return 1;
            }
            Console.WriteLine((await File.ReadAllTextAsync(path, cancellationToken)).Trim());
            return 0;
        });
        return command;
    }
}
