// This lab runs two services, each its own process: src/orders.ts (`npm start`) and src/inventory.ts
// (`npm run inventory`). See README.md.
import './orders.ts';
