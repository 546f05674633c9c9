from hindfoot.cli.main import app

app()
