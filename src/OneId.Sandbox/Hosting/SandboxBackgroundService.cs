using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OneId.Sandbox.Pushes;
using OneId.Sandbox.State;

namespace OneId.Sandbox.Hosting;

/// <summary>The sandbox's heartbeat: sends due pushes and retries, and the component_verify_ticket every 10 sandbox minutes.</summary>
internal sealed class SandboxBackgroundService(SandboxRuntime runtime, PushDispatcher dispatcher, SandboxEvents events,
    ILogger<SandboxBackgroundService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        runtime.WorldReplaced += (_, _) => events.ResetTicketSchedule();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                events.PushDueTickets();
                dispatcher.DispatchDue(stoppingToken);
            }
#pragma warning disable CA1031 // the loop must survive any one failure; it is logged
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.BackgroundFailed(logger, ex);
            }
            await dispatcher.WaitAsync(stoppingToken).ConfigureAwait(false);
        }
    }
}
