namespace OneId.WeChat;
