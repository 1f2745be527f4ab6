"""Qt widgets only: they show the flows' view models and send intents back."""
