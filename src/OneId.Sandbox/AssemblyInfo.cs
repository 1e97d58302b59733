namespace OneId.Sandbox;
