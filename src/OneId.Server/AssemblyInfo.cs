using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("OneId.Server.Tests")]

namespace OneId.Server;
