using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("OneId.Sandbox.Tests")]
