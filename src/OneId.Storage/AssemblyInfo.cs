using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("OneId.Storage.Tests")]
