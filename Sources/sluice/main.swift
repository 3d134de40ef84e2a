import SluiceKit

Sluice.main()
