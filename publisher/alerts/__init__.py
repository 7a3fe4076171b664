"""Breaking-news alerts (속보): one article, mailed at once to the readers who opted in."""
