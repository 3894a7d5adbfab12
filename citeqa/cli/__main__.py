from citeqa.cli import main

main()
