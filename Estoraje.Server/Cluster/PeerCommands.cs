using Estoraje.Resp;
using Estoraje.Server.Network;

namespace Estoraje.Server.Cluster;

/// <summary>Commands only peers send, on the peer port.</summary>
internal static class PeerCommands
{
    /// <summary>
    /// ESTORAJE.PEER secret: marks the connection as another node's, whose commands always run here (they
    /// were routed by the sender already; routing again could bounce between nodes with different views).
    /// </summary>
    public static void Authenticate(ClientSession client, RespRequest request)
    {
        if (!client.OnPeerPort)
        {
            client.Writer.WriteError("ERR ESTORAJE.PEER is accepted on the peer port only");
            return;
        }

        var secret = client.Server.Options.ClusterSecret;
        if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(request[1], System.Text.Encoding.UTF8.GetBytes(secret)))
        {
            client.Writer.WriteError("WRONGPASS invalid cluster secret");
            return;
        }

        client.IsPeer = true;
        client.SetAuthenticated(true);
        client.Writer.WriteOk();
    }
}
