using System.Data.Common;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Imprint.Storage;

/// <summary>
/// Inserts many rows of one entity type in the context's current transaction without change tracking: multi-row
/// <c>INSERT</c> statements, prepared once and executed per chunk. EF Core's own insert path reads back each generated key
/// and tracks every entity, which makes a first inventory of thousands of images cost a second. Table, columns and value
/// conversions come from the EF model, so this follows the mapping; store-generated keys are left to the database
/// (the inserted entities do not learn them and are not tracked).
/// </summary>
public static class BulkInsert
{
    private const int RowsPerStatement = 10;

    /// <summary>Inserts <paramref name="entities"/>; the context must be in a transaction (the caller commits).</summary>
    public static async Task InsertAsync<T>(this DbContext db, IReadOnlyList<T> entities, CancellationToken cancellationToken) where T : class
    {
        if (entities.Count == 0)
            return;
        var transaction = db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("BulkInsert needs a transaction: its rows must be written with the rest or not at all");
        var entityType = db.Model.FindEntityType(typeof(T)) ?? throw new InvalidOperationException($"{typeof(T).Name} is not an entity of this context");
        var table = StoreObjectIdentifier.Table(entityType.GetTableName()!, entityType.GetSchema());
        var columns = entityType.GetProperties()
            .Where(p => p.ValueGenerated != ValueGenerated.OnAdd)
            .Select(p => p.PropertyInfo is null
                ? throw new NotSupportedException($"BulkInsert cannot write the shadow property {typeof(T).Name}.{p.Name}")
                : (Property: p, Name: p.GetColumnName(table)!, Mapping: p.GetRelationalTypeMapping()))
            .ToList();
        var sql = db.GetService<ISqlGenerationHelper>();
        var head = $"INSERT INTO {sql.DelimitIdentifier(table.Name, table.Schema)} ({string.Join(", ", columns.Select(c => sql.DelimitIdentifier(c.Name)))}) VALUES ";

        var connection = transaction.Connection!;
        DbCommand? full = null;
        try
        {
            for (var start = 0; start < entities.Count; start += RowsPerStatement)
            {
                var rows = Math.Min(RowsPerStatement, entities.Count - start);
                DbCommand command;
                if (rows == RowsPerStatement)
                    command = full ??= Prepare(connection, transaction, head, columns, rows);
                else
                    command = Prepare(connection, transaction, head, columns, rows);
                try
                {
                    var parameter = 0;
                    for (var row = 0; row < rows; row++)
                    {
                        var entity = entities[start + row];
                        foreach (var (property, _, mapping) in columns)
                        {
                            var value = property.PropertyInfo!.GetValue(entity);
                            if (value is not null && mapping.Converter is { } converter)
                                value = converter.ConvertToProvider(value);
                            command.Parameters[parameter++].Value = value ?? DBNull.Value;
                        }
                    }
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }
                finally
                {
                    if (command != full)
                        await command.DisposeAsync();
                }
            }
        }
        finally
        {
            if (full is not null)
                await full.DisposeAsync();
        }
    }

    private static DbCommand Prepare(DbConnection connection, DbTransaction transaction, string head,
        List<(IProperty Property, string Name, RelationalTypeMapping Mapping)> columns, int rows)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        var text = new StringBuilder(head);
        var index = 0;
        for (var row = 0; row < rows; row++)
        {
            text.Append(row == 0 ? "(" : ", (");
            for (var column = 0; column < columns.Count; column++)
            {
                var name = "@p" + index++;
                text.Append(column == 0 ? name : ", " + name);
                // The type mapping makes the provider's parameter (its DbType, e.g. for a null); the value is set per chunk.
                command.Parameters.Add(columns[column].Mapping.CreateParameter(command, name, null, columns[column].Property.IsNullable));
            }
            text.Append(')');
        }
        command.CommandText = text.ToString();
        command.Prepare();
        return command;
    }
}
