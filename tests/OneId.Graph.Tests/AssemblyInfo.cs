namespace OneId.Graph.Tests;
