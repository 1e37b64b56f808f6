using Estoraje.Resp;
using Estoraje.Server.Network;

namespace Estoraje.Server.Commands;

/// <summary>The CLUSTER subcommands a standalone node answers.</summary>
internal static class ClusterCommands
{
    public static void KeySlot(ClientSession client, RespRequest request) =>
        client.Writer.WriteInteger(Ring.KeySlot.Of(request[2]));

    /// <summary>What Redis without cluster support answers, so cluster-aware clients stay in standalone mode.</summary>
    public static void Disabled(ClientSession client, RespRequest request) =>
        client.Writer.WriteError("ERR This instance has cluster support disabled");

    public static void Help(ClientSession client, RespRequest request) => ServerCommands.WriteHelp(client, "CLUSTER",
    [
        "KEYSLOT <key>",
        "    Return the hash slot for <key>.",
    ]);
}
