namespace StreamGuard.Cli.Commands;

/// <summary>
/// What the <c>policy</c> commands print: text for people (the default), one JSON document for programs
/// (docs/spec-notes.md, "Policy tooling output"), or — <c>policy diff</c> only — one tab-separated line per change.
/// </summary>
internal enum PolicyFormat
{
    Text,
    Json,
    Tsv,
}
