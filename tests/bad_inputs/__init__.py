"""The CLI bad-input battery (issue 9): bad files x commands, through the real `corpus` CLI."""
