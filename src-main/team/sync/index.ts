export { syncModule } from './routes.js'
