namespace OneId.Server;
