namespace OneId.Sandbox.Tests;
