// Runs one SQL statement in an in-memory DuckDB and prints its rows as a JSON
// array, so Go tests can check how an analytics engine reads an export.
import { DuckDBInstance } from '@duckdb/node-api';

try {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const reader = await connection.runAndReadAll(process.argv[2]);
  console.log(JSON.stringify(reader.getRowObjectsJson()));
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
