using Imprint.Commands;

return await ImprintCommandLine.RunAsync(args);
