namespace Imprint.DiskImages.Tests.Support;

/// <summary>Tests that keep every core busy for seconds run in this collection, alone, after the others.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeavyTests
{
    public const string Name = "Heavy";
}
