namespace OneId.Graph;
