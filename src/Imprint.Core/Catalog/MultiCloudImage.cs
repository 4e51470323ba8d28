namespace Imprint.Core.Catalog;

/// <summary>A MultiCloud Image: its settings and matchers are copied with it into each committed revision.</summary>
public sealed class MultiCloudImage : Revisioned;
