"""The screens of the TUI, one per task, plus dialogs."""
