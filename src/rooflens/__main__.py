from rooflens.cli import main

main()
