namespace OneId.Testing;
