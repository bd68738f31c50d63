from storygen.cli import main

main()
