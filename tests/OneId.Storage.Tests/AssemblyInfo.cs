namespace OneId.Storage.Tests;
