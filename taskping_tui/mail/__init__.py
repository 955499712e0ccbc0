"""Mail: notification mails, the outbox, the IMAP watcher and reply parsing. No Textual imports here."""
