namespace OneId.Storage;
