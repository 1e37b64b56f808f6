namespace Estoraje.Resp;

/// <summary>Outcome of one attempt to frame a request.</summary>
public enum ParseStatus
{
    /// <summary>A complete request was framed.</summary>
    Done,

    /// <summary>The buffer ends inside a request; call again with more data (same start).</summary>
    NeedMoreData,

    /// <summary>The input is not valid RESP; the connection must be closed after the error is sent.</summary>
    Invalid,
}
