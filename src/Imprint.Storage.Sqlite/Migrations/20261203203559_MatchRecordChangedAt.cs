using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Imprint.Storage.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class MatchRecordChangedAt : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.RenameColumn(
                name: "CheckedAt",
                table: "Matches",
                newName: "ChangedAt");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.RenameColumn(
                name: "ChangedAt",
                table: "Matches",
                newName: "CheckedAt");
        }
    }
}
