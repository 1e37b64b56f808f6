namespace Estoraje.Tests.Support;

/// <summary>A clock that moves only when told to.</summary>
internal sealed class ManualTime : TimeProvider
{
    private DateTimeOffset _now;

    public ManualTime(long unixMilliseconds = 1_700_000_000_000) => _now = DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);

    public long NowMs => _now.ToUnixTimeMilliseconds();

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(long milliseconds) => _now = _now.AddMilliseconds(milliseconds);
}
