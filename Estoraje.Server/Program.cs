using Estoraje.Server.Hosting;
using Microsoft.Extensions.Hosting;

return await EstorajeHost.RunAsync(args);
