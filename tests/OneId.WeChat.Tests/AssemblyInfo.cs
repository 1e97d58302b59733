namespace OneId.WeChat.Tests;
