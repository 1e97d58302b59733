namespace OneId.Server.Tests;
