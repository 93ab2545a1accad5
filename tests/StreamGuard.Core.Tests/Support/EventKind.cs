namespace StreamGuard.Tests.Support;

/// <summary>The four input event types of SPEC §2.</summary>
public enum EventKind
{
    Read,
    Query,
    Hotlist,
    Hold,
}
