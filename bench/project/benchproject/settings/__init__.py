"""One settings module per contender; ``base`` holds everything they share."""
